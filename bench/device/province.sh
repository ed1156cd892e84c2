# Start (in the background) generating a 10M-subscriber province and then the full pipeline on
# it; poll the log for up to 9.5 minutes. Call poll.sh next, within 30 s.
. .devdata/setup.sh
nproc; lscpu | grep "Model name"
cp -r .devdata/var1m /tmp/var1m 2>/dev/null
cat > /tmp/province-run.sh <<INNER
export PYTHONPATH=$PYTHONPATH DJANGO_SETTINGS_MODULE=quanwang.settings QUANWANG_VAR_DIR=/tmp/qwvar
# The defaults are sized for 2 cores; this machine has 16 and 128 GiB.
export QUANWANG_PIPELINE_MEMORY=${QUANWANG_PIPELINE_MEMORY:-96GB} QUANWANG_MODEL_THREADS=${QUANWANG_MODEL_THREADS:-16}
cd $PWD
start=\$(date +%s)
python3 -c "import sys; sys.argv=['quanwang','generate','--subscribers','10000000','--months','${MONTHS:-12}','--seed','1','--out','/tmp/province']; from quanwang.cli import main; main()" 2>&1 | tail -3
echo "generated in \$(( \$(date +%s) - start )) s"
python3 $TREE/bench/bench_pipeline.py --full-only /tmp/province ${SNAPSHOT:-2024-12} /tmp/var1m 2>&1 | grep -v Warning | tail -3
echo "PROVINCE DONE"
INNER
setsid nohup bash /tmp/province-run.sh > /tmp/province.log 2>&1 &
bash .devdata/poll.sh
