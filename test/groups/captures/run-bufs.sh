#!/bin/bash
# GROUPS state larger than one GROUPS message (100000 bytes): a client of lo1 in 1100 groups,
# one of lo2 in every 100th of them. A monitor partition {lo1 | lo2} then a heal make lo1 send
# its state in two GROUPS messages (the second built is sent first, RELIABLE; the first built,
# with the synced set, last, AGREED), each cut into ~70 fragments.
# Run as root in a private network namespace:  unshare --net ./run-bufs.sh groups-lo2-bufs.pcap
set -u
OUT=$1
D=${TMPDIR:-/tmp}/spread-bufs; rm -rf $D; mkdir -p $D; chmod 777 $D
HERE=$(cd "$(dirname "$0")" && pwd)
CONF=$HERE/lo3-groups.conf
REF=${SPREAD_REF:-/opt/spread-ref}
NB="setpriv --reuid=nobody --regid=nogroup --clear-groups"
ip link set lo up
tcpdump -i lo -s 0 -U -w $D/full.pcap 'udp portrange 26803-26824 or tcp portrange 26803-26823' > $D/tcpdump.log 2>&1 &
TCPD=$!
sleep 1
start() { setsid stdbuf -oL $NB $REF/sbin/spread -n $1 -c $CONF > $D/$1.log 2>&1 & echo $! > $D/$1.pid; }
memb() { grep -c 'Membership id is' $D/$1.log; }
waitmore() { for i in $(seq 1 600); do [ "$(memb $1)" -gt $2 ] && return 0; sleep 0.1; done; echo "timeout waiting for $1 (> $2)" >&2; }
start lo1; waitmore lo1 0; sleep 1
start lo2; waitmore lo1 1; sleep 2
(cd $HERE/../../.. && npx tsx $HERE/joiner.ts 26803@127.0.0.1 big lo1g 1100 1 $D/quit > $D/big.log 2>&1 &)
(cd $HERE/../../.. && npx tsx $HERE/joiner.ts 26813@127.0.0.2 y lo1g 1100 100 $D/quit > $D/y.log 2>&1 &)
for i in $(seq 1 300); do [ "$(cat $D/big.log $D/y.log 2>/dev/null | grep -c joined)" -ge 2 ] && break; sleep 0.2; done
sleep 1
mkfifo $D/mon.in
timeout 300 stdbuf -oL $NB $REF/bin/spmonitor -n lo1 -c $CONF < $D/mon.in > $D/mon.log 2>&1 &
exec 5>$D/mon.in
mon() { for l in "$@"; do echo "$l" >&5; sleep 0.3; done; }
n1=$(memb lo1); n2=$(memb lo2)
mon 1 0 1 2 2
waitmore lo1 $n1; waitmore lo2 $n2; sleep 2
n1=$(memb lo1); n2=$(memb lo2)
mon 4
waitmore lo1 $n1; waitmore lo2 $n2; sleep 3
mon 9; exec 5>&-
touch $D/quit; sleep 3
for n in lo1 lo2; do kill -TERM $(cat $D/$n.pid) 2>/dev/null; done
sleep 2
kill -INT $TCPD; wait $TCPD 2>/dev/null
# Keep the data packets of the last ring (the merge: GROUPS messages first), not its tokens.
T=$(grep 'Membership id is' $D/lo1.log | tail -1 | sed 's/.*, \([0-9]*\))/\1/')
TH=$(python3 -c "import struct,sys; print('0x'+struct.pack('<I',int(sys.argv[1])).hex())" $T)
tcpdump -r $D/full.pcap -w $OUT "udp and udp[24:4] = $TH and not dst port 26804 and not dst port 26814 and not dst port 26824"
for n in lo1 lo2; do echo "== $n"; grep -E 'Membership id is' $D/$n.log; done
cat $D/big.log $D/y.log
ls -la $OUT
