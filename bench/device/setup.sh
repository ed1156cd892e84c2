# Sourced on the device machine: Quanwang's missing packages from the carried wheels.
if [ "$(ls /tmp/extra 2>/dev/null | grep -c dist-info)" != "$(ls .devwheels | wc -l)" ]; then
  python3 -m pip install --quiet --upgrade --no-index --no-deps --target /tmp/extra .devwheels/*.whl
fi
# .devdata/tree, when carried, is a frozen copy of src/ and bench/ (the working tree may be
# mid-edit while a run is prepared).
TREE=$PWD; [ -d .devdata/tree ] && TREE=$PWD/.devdata/tree
export PYTHONPATH=/tmp/extra:$TREE/src:$TREE/bench DJANGO_SETTINGS_MODULE=quanwang.settings
export QUANWANG_VAR_DIR=/tmp/qwvar
