/**
 * One line per datagram, in the style of the reference captures' .decoded.txt files, for
 * `--trace` output.
 */
import { safeDecode } from '../wire/daemon/datagram.js';
import { getArq, getRetrans, ipString, packetTypeNames } from '../wire/daemon/constants.js';
import type { Channel } from '../daemon/ring/actions.js';

export function formatDatagram(channel: Channel, bytes: Uint8Array): string {
  const d = safeDecode(bytes, channel);
  if (!d.ok) return `MALFORMED ${d.error.message}`;
  const v = d.value;
  if (v.kind === 'token') {
    const h = v.header;
    const rtr = v.rtr.map((r) => `[${r.procId === -1 ? '*' : ipString(r.procId)}/${r.segIndex}: ${r.seqs.join(',')}]`).join('');
    return `TOKEN seq=${h.seq} aru=${h.aru} aru_last=${ipString(h.aruLastId)} fc=${h.flowControl} rtr_len=${h.rtrLen} ` +
      `arq=${getArq(h.type)} rtrs=${getRetrans(h.type)}${rtr ? ' rtr=' + rtr : ''}`;
  }
  if (v.kind === 'form1' || v.kind === 'form2') return v.kind.toUpperCase();
  const h = v.header;
  return `${packetTypeNames(h.type)} seq=${h.seq} round=${h.tokenRound} proc=${ipString(h.procId)} ` +
    `trans=${ipString(h.transmitterId)} data_len=${h.dataLen}` +
    (v.kind === 'data' ? ` frags=${v.fragments.map((f) => `${f.index}:${f.data.length}`).join(',')}` : '');
}
