#!/bin/bash
# Reference daemons through two rarer groups-layer paths, made deterministic by dropping every
# datagram to lo3's data port (iptables) while the token channel still works:
#   A  requests delivered between the transitional and the regular configuration (GTRANS):
#      with lo3 deaf, a SAFE message cannot become stable, so the JOIN / LEAVE / KILL ordered
#      after it wait; a monitor partition {lo1, lo2 | lo3} then delivers them after the
#      transitional configuration, in a changed group.
#   B  a cascade: with lo3 deaf to GROUPS messages only (iptables string match on their type
#      word), lo3 merges back and stays in GGATHER while lo1 and lo2 complete; lo3 is then cut
#      off again (transitional during GGATHER ⇒ GGT ⇒ regular ⇒ GGATHER, buffers re-stamped).
#   then everything heals.
# Run as root in a private network namespace:  unshare --net ./run-gtrans.sh groups-lo3-gtrans.pcap
set -u
OUT=$1
D=${TMPDIR:-/tmp}/spread-gtrans; rm -rf $D; mkdir -p $D; chmod 777 $D
CONF=$(cd "$(dirname "$0")" && pwd)/lo3-groups.conf
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
start lo3; waitmore lo1 2; sleep 2
# Clients read commands appended to $D/NAME.cmd (one write per line).
TAILS=""
user() { # name port ip
  : > $D/$1.cmd
  tail -f $D/$1.cmd | timeout 600 stdbuf -oL $NB $REF/bin/spuser -s $2@$3 -u $1 > $D/$1.log 2>&1 &
  TAILS="$TAILS $(pgrep -n -f "tail -f $D/$1.cmd")"
  sleep 0.5
}
cmd() { echo "$2" >> $D/$1.cmd; sleep 0.4; }
user a 26803 127.0.0.1; user x 26803 127.0.0.1; user e 26803 127.0.0.1; user f 26803 127.0.0.1
user b 26813 127.0.0.2; user d 26813 127.0.0.2; user c 26823 127.0.0.3
cmd a 'j grp'; cmd b 'j grp'; cmd d 'j grp'; cmd c 'j grp'; cmd e 'j grp'; cmd x 'j solo'
sleep 2
# The monitor reads one line per write.
mkfifo $D/mon.in
timeout 600 stdbuf -oL $NB $REF/bin/spmonitor -n lo1 -c $CONF < $D/mon.in > $D/mon.log 2>&1 &
exec 5>$D/mon.in
mon() { for l in "$@"; do echo "$l" >&5; sleep 0.3; done; }
deaf() { iptables -$1 INPUT -p udp --dport 26823 -j DROP; }
echo "== A" >&2
deaf A; sleep 0.5
cmd a 's grp'; cmd a 'hello'          # SAFE: never stable while lo3 is deaf
cmd f 'j grp'; cmd d 'l grp'; cmd e 'q'
sleep 2
n1=$(memb lo1); n3=$(memb lo3)
mon 1 0 0 1 2
waitmore lo1 $n1; waitmore lo3 $n3; sleep 2
echo "== heal" >&2
deaf D
n1=$(memb lo1); n3=$(memb lo3)
mon 4
waitmore lo1 $n1; waitmore lo3 $n3; sleep 2
echo "== B" >&2
n1=$(memb lo1); n3=$(memb lo3)
mon 1 0 0 1 2
waitmore lo1 $n1; waitmore lo3 $n3; sleep 2
groupsdeaf() { iptables -$1 INPUT -p udp --dport 26823 -m string --algo bm --hex-string '|90000880|' -j DROP; }
groupsdeaf A
n1=$(memb lo1); n3=$(memb lo3)
mon 4                                 # merge: lo3 never gets lo1's GROUPS message
waitmore lo1 $n1; waitmore lo3 $n3; sleep 2
n1=$(memb lo1); n3=$(memb lo3)
mon 1 0 0 1 2                         # lo3 cut off while gathering
waitmore lo1 $n1; waitmore lo3 $n3; sleep 2
groupsdeaf D
echo "== heal" >&2
n1=$(memb lo1); n3=$(memb lo3)
mon 4
waitmore lo1 $n1; waitmore lo3 $n3; sleep 3
mon 9; exec 5>&-
for u in a x f b d c; do cmd $u q; done
sleep 3
kill $TAILS 2>/dev/null
for n in lo1 lo2 lo3; do kill -TERM $(cat $D/$n.pid) 2>/dev/null; done
sleep 2
kill -INT $TCPD; wait $TCPD 2>/dev/null
# lo3's endless retransmission requests make the full capture huge: keep the clients' TCP
# streams and the GROUPS messages (message type word at UDP offset 48), minus the copies
# retransmitted to the deaf lo3.
tcpdump -r $D/full.pcap -w $OUT 'tcp or (udp and (udp[48:4] = 0x90000880 or udp[48:4] = 0x92000880) and not dst port 26823)'
for n in lo1 lo2 lo3; do echo "== $n"; grep -E 'Membership id is' $D/$n.log; done
ls -la $OUT
