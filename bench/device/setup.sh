# Sourced on the device machine: Quanwang's missing packages from the carried wheels.
if [ "$(ls /tmp/extra 2>/dev/null | grep -c dist-info)" != "$(ls .devwheels | wc -l)" ]; then
  python3 -m pip install --quiet --upgrade --no-index --no-deps --target /tmp/extra .devwheels/*.whl
fi
export PYTHONPATH=/tmp/extra:$PWD/src:$PWD/bench DJANGO_SETTINGS_MODULE=quanwang.settings
export QUANWANG_VAR_DIR=/tmp/qwvar
