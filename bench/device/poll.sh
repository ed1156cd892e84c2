# Wait up to 9.5 minutes for the province run to finish, then show its log.
for i in $(seq 1 114); do
  grep -q "PROVINCE DONE" /tmp/province.log 2>/dev/null && break
  sleep 5
done
tail -20 /tmp/province.log
