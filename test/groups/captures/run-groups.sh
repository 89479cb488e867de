#!/bin/bash
# Records what clients of the reference daemons receive when their ring partitions and merges.
# Run as root inside a private network namespace (daemons and clients run as nobody):
#   unshare --net ./run-groups.sh groups-lo3.pcap
# 3 daemons lo1/lo2/lo3 (lo3-groups.conf, beside this script); spusers a@lo1, b@lo2, d@lo2,
# c@lo3 join "grp", x@lo1 joins "solo". spmonitor then drives partitions, each step waiting
# for the daemons concerned to install their new ring:
#   P1 {lo1,lo2 | lo3}       a partition: TRANSITION + NETWORK on both sides
#   P2 {lo1,lo3 | lo2}       lo1 loses lo2 and merges with lo3
#   P3 {lo1 | lo2 | lo3}     everyone alone
#   heal                     three singleton rings merge at once
# Captured: all UDP of the ring and the clients' TCP streams.
set -u
OUT=$1
D=${TMPDIR:-/tmp}/spread-groups; rm -rf $D; mkdir -p $D; chmod 777 $D
CONF=$(cd "$(dirname "$0")" && pwd)/lo3-groups.conf
REF=${SPREAD_REF:-/opt/spread-ref}
NB="setpriv --reuid=nobody --regid=nogroup --clear-groups"
ip link set lo up
tcpdump -i lo -s 0 -U -w $OUT 'udp portrange 26803-26824 or tcp portrange 26803-26823' > $D/tcpdump.log 2>&1 &
TCPD=$!
sleep 1
start() { # name
  setsid stdbuf -oL $NB $REF/sbin/spread -n $1 -c $CONF > $D/$1.log 2>&1 &
  echo $! > $D/$1.pid
}
memb() { grep -c 'Membership id is' $D/$1.log; }
waitmore() { # name count: until more than count rings were installed
  for i in $(seq 1 600); do [ "$(memb $1)" -gt $2 ] && return 0; sleep 0.1; done; echo "timeout waiting for $1 (> $2)" >&2; }
start lo1; waitmore lo1 0; sleep 1
start lo2; waitmore lo1 1; sleep 2
start lo3; waitmore lo1 2; sleep 2
user() { # name port ip commands...
  local u=$1 port=$2 ip=$3; shift 3
  ( for c in "$@"; do printf '%s\n' "$c"; sleep 0.5; done
    while [ ! -f $D/quit ]; do sleep 0.5; done; printf 'q\n' ) | \
    timeout 400 stdbuf -oL $NB $REF/bin/spuser -s $port@$ip -u $u > $D/$u.log 2>&1 &
}
user a 26803 127.0.0.1 'j grp'; sleep 1
user b 26813 127.0.0.2 'j grp'; sleep 1
user d 26813 127.0.0.2 'j grp'; sleep 1
user c 26823 127.0.0.3 'j grp'; sleep 1
user x 26803 127.0.0.1 'j solo'; sleep 2
# spmonitor: 1 = define partition (one number per daemon), 2 = send it (re-sent periodically),
# 4 = cancel, 9 = exit. One line per write: spmonitor select()s on stdin and then reads it with
# stdio, so lines that arrive together wait in its buffer until more input comes.
lines() { for l in "$@"; do printf '%s\n' "$l"; sleep 0.3; done; }
step() { # vector (or "heal") then the daemons whose ring must change
  local v=$1; shift
  local -A before; for n in "$@"; do before[$n]=$(memb $n); done
  if [ "$v" = heal ]; then lines 4; else lines 1 $(echo $v | tr ',' ' ') 2; fi
  for n in "$@"; do waitmore $n ${before[$n]}; done
  sleep 3
}
( sleep 1
  step 0,0,1 lo1 lo3
  step 0,1,0 lo1 lo2 lo3
  step 0,1,2 lo1 lo3
  step heal lo1 lo2 lo3
  lines 9 ) | timeout 300 stdbuf -oL $NB $REF/bin/spmonitor -n lo1 -c $CONF > $D/mon.log 2>&1
touch $D/quit
while pgrep -x spuser >/dev/null; do sleep 1; done
sleep 1
for n in lo1 lo2 lo3; do kill -TERM $(cat $D/$n.pid) 2>/dev/null; done
sleep 2
kill -INT $TCPD; wait $TCPD 2>/dev/null
for n in lo1 lo2 lo3; do echo "== $n"; grep -E 'Membership id is' $D/$n.log; done
ls -la $OUT
