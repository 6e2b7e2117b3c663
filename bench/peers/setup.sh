#!/bin/sh
# Creates the benchmark's own virtual environments under build/bench-venvs/ (git-ignored), one per peer
# plus one for the chart, each from its pinned requirements file. A venv whose requirements file has not
# changed since it was built is kept. torch comes from scripts/install-torch.sh (the CPU build, never the
# multi-GB CUDA one), before the rest, so that pip finds it already satisfied.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
python=${PYTHON:-python3}
venvs=${BENCH_VENVS:-$root/build/bench-venvs}
mkdir -p "$venvs"

build_venv() {  # name, requirements file, needs torch (yes/no)
    name=$1; requirements=$2; torch=$3
    venv=$venvs/$name
    stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$stamp" ]; then
        return 0
    fi
    echo "bench: building $venv from ${requirements#"$root"/}"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    if [ "$torch" = yes ]; then
        "$root/scripts/install-torch.sh" "$venv/bin/python"
    fi
    "$venv/bin/python" -m pip install -q -r "$requirements"
    echo "$stamp" > "$venv/.installed"
}

# With arguments, only the venvs named (make bench-mme needs peer (a)'s alone; make bench-tasks peer (a)'s and
# peer (d)'s, ce-fastapi, which make bench does not run and the default list leaves out).
wanted=${*:-aws flask st-fastapi chart}
for name in $wanted; do
    case $name in
        aws|flask|st-fastapi|ce-fastapi) build_venv "$name" "$root/bench/peers/$name/requirements.txt" yes ;;
        chart) build_venv chart "$root/bench/requirements-chart.txt" no ;;
        *) echo "bench/peers/setup.sh: no venv named $name" >&2; exit 2 ;;
    esac
done
