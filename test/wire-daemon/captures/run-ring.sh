#!/bin/bash
# Runs a 3-daemon loopback ring of the reference (SPREAD_REF, default /opt/spread-ref) and
# captures lo with tcpdump. Run it as root inside a private network namespace:
#   unshare --net ./run-ring.sh OUT.pcap small     # -> ring-lo3-mixed.pcap (ns timestamps)
#   unshare --net ./run-ring.sh OUT.pcap bulk      # ~17 MB, not committed
# The configuration (lo3.conf, beside this script) must be readable by user nobody.
set -u
OUT=$1; MODE=$2
D=${TMPDIR:-/tmp}/spread-ring-$MODE; rm -rf $D; mkdir -p $D; chmod 777 $D
CONF=$(cd "$(dirname "$0")" && pwd)/lo3.conf
REF=${SPREAD_REF:-/opt/spread-ref}
ip link set lo up
PREC=""; [ "$MODE" = small ] && PREC="--time-stamp-precision=nano"
tcpdump -i lo -s 0 -U $PREC -w $OUT 'udp portrange 26803-26824 or udp port 6543 or tcp port 26803' > $D/tcpdump.log 2>&1 &
TCPD=$!
sleep 1
start() { # name
  setsid stdbuf -oL setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/sbin/spread -n $1 -c $CONF > $D/$1.log 2>&1 &
  echo $! > $D/$1.pid
}
waitmemb() { # name count
  for i in $(seq 1 100); do [ "$(grep -c 'Membership id is' $D/$1.log)" -ge $2 ] && return 0; sleep 0.1; done; echo "timeout waiting for $1"; }
start lo1; waitmemb lo1 1; sleep 1
start lo2; waitmemb lo2 1; sleep 2
start lo3; waitmemb lo3 1; sleep 2
FL="setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/bin/spflooder"
if [ "$MODE" = small ]; then
  # a few dropped data packets at lo2 and lo3 => retransmission requests on the token
  iptables -A INPUT -p udp --dport 26813 -m statistic --mode random --probability 0.05 -j DROP
  iptables -A INPUT -p udp --dport 26823 -m statistic --mode random --probability 0.05 -j DROP
  timeout 20 $FL -u fa -s 26803@127.0.0.1 -m 6 -b 5000 > $D/fa.log 2>&1
  timeout 20 $FL -u fb -s 26813 -m 30 -b 101 > $D/fb.log 2>&1
  timeout 20 $FL -u fc -s 26823 -m 2 -b 15000 > $D/fc.log 2>&1
  iptables -F INPUT
  (printf 'j grp\n'; sleep 1; printf 's grp\nhello from spuser\n'; sleep 1; printf 'l grp\n'; sleep 0.5; printf 'q\n') | \
    timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/bin/spuser -s 26803@127.0.0.1 -u us > $D/spuser.log 2>&1
  # monitor: status, flow control, a partition (lo3 alone) and its cancellation
  (printf '0\nall\n\n'; sleep 2.5; printf '5\n160\n20\n15\n20\n15\n20\n15\n6\n'; sleep 1;
   printf '1\n0\n0\n1\n2\n'; sleep 4; printf '4\n'; sleep 5; printf '0\nnone\n\nr\n'; sleep 4; printf '9\n') | \
    timeout 30 stdbuf -oL setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/bin/spmonitor -n lo1 -c $CONF -t 1 > $D/mon.log 2>&1
  sleep 1
  kill -9 $(cat $D/lo3.pid); sleep 4
  start lo3; waitmemb lo3 1; sleep 2
else
  iptables -A INPUT -p udp --dport 26813 -m statistic --mode random --probability 0.01 -j DROP
  timeout 60 $FL -u fa -s 26803@127.0.0.1 -m 300 -b 5000 > $D/fa.log 2>&1 & P1=$!
  timeout 60 $FL -u fb -s 26813 -m 3000 -b 1000 > $D/fb.log 2>&1 & P2=$!
  timeout 60 $FL -u fc -s 26823 -m 2000 -b 100 > $D/fc.log 2>&1 & P3=$!
  wait $P1 $P2 $P3; sleep 1
  iptables -F INPUT
  timeout 30 $FL -u fd -s 26803@127.0.0.1 -m 20 -b 100000 > $D/fd.log 2>&1
  sleep 1
fi
for n in lo1 lo2 lo3; do kill -TERM $(cat $D/$n.pid) 2>/dev/null; done
sleep 2
kill -INT $TCPD; wait $TCPD 2>/dev/null
ls -la $OUT
