#!/usr/bin/env bash
# Print the path of a Python 3.12+ interpreter, or explain and fail.
for candidate in python3 python3.13 python3.12 python; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
echo "No Python 3.12 or newer found. Install one (e.g. python3.12) or, with pyenv, run 'pyenv install 3.12' (this repository's .python-version selects 3.12.1)." >&2
exit 1
