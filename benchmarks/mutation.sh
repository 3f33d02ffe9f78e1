#!/usr/bin/env bash
# Mutation score of the code users' work depends on (models/, training/, results.py, rng.py and
# the engine's Python side; scope and guarding tests in pyproject.toml [tool.mutmut]).
#
#     bash benchmarks/mutation.sh            # all of it: hours on 2 cores
#     bash benchmarks/mutation.sh 'biaslearn.rng*' 'biaslearn.models.bank*'   # some modules
#
# Installs mutmut (the 'mutation' extra), runs it with the compiled kernel required, prints the
# score and the surviving mutants; the results stay in mutants/ (git-ignored). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
"$python" -m pip install -q -e '.[test,mutation]'
export BIASLEARN_REQUIRE_COMPILED=1
start=$(date +%s)
"$python" -m mutmut run --max-children "${JOBS:-2}" "$@" || true
echo "mutmut run took $(( $(date +%s) - start )) s"
"$python" -m mutmut results --all true 2>/dev/null | awk '{print $NF}' | sort | uniq -c
echo "survivors:"
"$python" -m mutmut results 2>/dev/null | grep -E "survived|no tests" || echo "  none"
