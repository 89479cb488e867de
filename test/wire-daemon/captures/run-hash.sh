#!/bin/bash
# Two reference daemons whose configurations differ only in AcceleratedRing (so they hash
# differently), captured on lo. Run as root: unshare --net ./run-hash.sh OUT.pcap
set -u
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${SPREAD_REF:-/opt/spread-ref}
D=${TMPDIR:-/tmp}/spread-hash; rm -rf $D; mkdir -p $D; chmod 777 $D
cp $HERE/lo3.conf $D/a.conf
sed 's/AcceleratedRing = true/AcceleratedRing = false/' $HERE/lo3.conf > $D/b.conf
printf 'DebugFlags = { PRINT EXIT NETWORK }\n' | tee -a $D/a.conf >> $D/b.conf
chmod 644 $D/*.conf
ip link set lo up
tcpdump -i lo -s 0 -U -w $OUT 'udp portrange 26803-26824' > $D/tcpdump.log 2>&1 & T=$!
sleep 1
setsid stdbuf -oL setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/sbin/spread -n lo1 -c $D/a.conf > $D/lo1.log 2>&1 & P1=$!
setsid stdbuf -oL setpriv --reuid=nobody --regid=nogroup --clear-groups $REF/sbin/spread -n lo2 -c $D/b.conf > $D/lo2.log 2>&1 & P2=$!
sleep 8
kill -TERM $P1 $P2; sleep 2; kill -INT $T; wait $T
grep 'different spread configuration' $D/lo1.log | head -1
