# Shared shell helpers for scripts/setup, scripts/test and scripts/demo (sourced, not run).
#
# The environments live in .venvs/<name> (git-ignored):
#   main = requirements_test.txt      (Home Assistant 2026.2.3, the version we develop against)
#   min  = requirements_test_min.txt  (Home Assistant 2025.4.4, the declared minimum)
# Each gets the home-assistant-frontend release that its own HA pins, because a real `hass`
# process refuses to start without the frontend (it drops into recovery mode, which then
# fails on missing `cloud` requirements) and the demo needs the UI anyway.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS_DIR="$REPO_ROOT/.venvs"
# Bump when the way a venv is built changes, so existing venvs get rebuilt.
VENV_RECIPE="4"

log() { printf '\033[1m[%s]\033[0m %s\n' "${LOG_TAG:-frigate_rules}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

venv_requirements() {
  case "$1" in
    main) echo "$REPO_ROOT/requirements_test.txt" ;;
    min) echo "$REPO_ROOT/requirements_test_min.txt" ;;
    *) die "unknown venv '$1' (expected main or min)" ;;
  esac
}

# A Python 3.13 that really runs. A pyenv shim on PATH exits non-zero unless a 3.13 is
# selected, so every candidate is executed before it is trusted.
find_python313() {
  local cand
  local -a cands=()
  [[ -n "${FRIGATE_RULES_PYTHON:-}" ]] && cands+=("$FRIGATE_RULES_PYTHON")
  cand="$(command -v python3.13 2>/dev/null || true)"
  [[ -n "$cand" ]] && cands+=("$cand")
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  if [[ -d "$pyenv_root/versions" ]]; then
    while IFS= read -r cand; do
      cands+=("$cand")
    done < <(find "$pyenv_root/versions" -maxdepth 3 -path '*/3.13*/bin/python3.13' 2>/dev/null | sort -rV)
  fi
  cands+=(/usr/local/bin/python3.13 /usr/bin/python3.13)
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    if "$cand" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 13))' \
      >/dev/null 2>&1; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

# An executable regular file (bash's `command -v` also reports non-executable matches).
_is_program() { [[ -n "$1" && -f "$1" && -x "$1" ]]; }

mosquitto_installed() {
  _is_program "$(command -v mosquitto 2>/dev/null || true)" || _is_program /usr/sbin/mosquitto
}

# Mosquitto is what the tests and the demo use as broker (Debian's 2.0 speaks MQTT 5).
ensure_mosquitto() {
  if mosquitto_installed; then
    return 0
  fi
  log "mosquitto not found: installing it with apt-get"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "mosquitto is missing and we are not root (no sudo)"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
    || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends mosquitto mosquitto-clients >&2 \
    || die "apt-get install mosquitto failed"
  mosquitto_installed || die "mosquitto still missing after apt-get install"
}

# The requirement files a venv is built from: the file itself plus its `-r` includes.
_requirement_files() {
  local file="$1" inc
  echo "$file"
  while IFS= read -r inc; do
    _requirement_files "$(dirname "$file")/$inc"
  done < <(sed -n 's/^[[:space:]]*-r[[:space:]]\+\([^[:space:]#]\+\).*/\1/p' "$file")
}

# Changes whenever a requirement file, the interpreter or the build recipe changes.
venv_key() {
  local name="$1" python="$2" req f
  req="$(venv_requirements "$name")"
  {
    echo "recipe=$VENV_RECIPE name=$name"
    echo "python=$python $("$python" -c 'import sys; print(sys.version)')"
    while IFS= read -r f; do
      echo "== $(basename "$f")"
      cat "$f"
    done < <(_requirement_files "$req")
  } | sha256sum | cut -d' ' -f1
}

STAMP_NAME=".frigate_rules_venv"

venv_is_ready() {
  local dir="$1" key="$2"
  [[ -x "$dir/bin/python" && -f "$dir/$STAMP_NAME" ]] || return 1
  grep -qx "key=$key" "$dir/$STAMP_NAME" || return 1
  "$dir/bin/python" -c '' >/dev/null 2>&1
}

# Build .venvs/<name> unless an up-to-date one exists. The venv is built under a temporary
# name and renamed into place only once complete, so an interrupted build never leaves
# something that looks usable; the readiness stamp is written last, before the rename.
ensure_venv() {
  local name="$1" python="$2"
  local final="$VENVS_DIR/$name" req key tmp old buildlog lockfd
  req="$(venv_requirements "$name")"
  mkdir -p "$VENVS_DIR"
  key="$(venv_key "$name" "$python")"
  exec {lockfd}>"$VENVS_DIR/.$name.lock"
  flock "$lockfd"
  if venv_is_ready "$final" "$key"; then
    exec {lockfd}>&-
    return 0
  fi
  # Leftovers of an interrupted build (we hold the lock, so nobody else is building).
  rm -rf "$VENVS_DIR/.$name.tmp."* "$VENVS_DIR/.$name.old."*
  tmp="$VENVS_DIR/.$name.tmp.$$"
  buildlog="$VENVS_DIR/$name.build.log"
  log "building .venvs/$name from $(basename "$req") (log: .venvs/$name.build.log)"
  if ! _build_venv "$tmp" "$req" "$python" "$key" "$final" >"$buildlog" 2>&1; then
    log "building .venvs/$name failed; last lines of .venvs/$name.build.log:"
    tail -n 30 "$buildlog" >&2
    rm -rf "$tmp"
    exec {lockfd}>&-
    return 1
  fi
  if [[ -e "$final" ]]; then
    old="$VENVS_DIR/.$name.old.$$"
    mv -T "$final" "$old"
  fi
  mv -T "$tmp" "$final"
  [[ -n "${old:-}" ]] && rm -rf "$old"
  log ".venvs/$name ready: $(venv_versions "$name")"
  exec {lockfd}>&-
}

_build_venv() {
  # Runs as an `if` condition, where `set -e` has no effect: every step checks itself.
  local tmp="$1" req="$2" python="$3" key="$4" final="$5" frontend ha f
  "$python" -m venv "$tmp" || return 1
  # The pip bundled with 3.13.0 (24.2) backtracks through dozens of sdists of HA's
  # dependencies and takes 10+ minutes; a current pip resolves the same set in about two.
  "$tmp/bin/python" -m pip install --upgrade "pip>=25.3" || return 1
  # --ignore-requires-python: HA 2026.2 declares Python >= 3.13.2; it runs on 3.13.0.
  "$tmp/bin/python" -m pip install --ignore-requires-python -r "$req" || return 1
  frontend="$("$tmp/bin/python" - <<'EOF'
import importlib.util
import json
import pathlib

spec = importlib.util.find_spec("homeassistant")
assert spec is not None and spec.submodule_search_locations
root = pathlib.Path(next(iter(spec.submodule_search_locations)))
manifest = json.loads((root / "components" / "frontend" / "manifest.json").read_text())
pins = [r for r in manifest["requirements"] if r.startswith("home-assistant-frontend==")]
print(pins[0].split("==", 1)[1])
EOF
)" || return 1
  "$tmp/bin/python" -m pip install --ignore-requires-python \
    "home-assistant-frontend==$frontend" || return 1
  ha="$("$tmp/bin/python" -c 'import importlib.metadata as m; print(m.version("homeassistant"))')" \
    || return 1
  # Console scripts and activate files carry the absolute path they were built at.
  while IFS= read -r f; do
    sed -i "s|$tmp|$final|g" "$f" || return 1
  done < <(grep -rlI --fixed-strings "$tmp" "$tmp/bin" "$tmp/pyvenv.cfg" 2>/dev/null || true)
  "$tmp/bin/python" -c \
    'import hass_frontend, homeassistant, paho.mqtt, pytest_homeassistant_custom_component' \
    || return 1
  {
    echo "key=$key"
    echo "requirements=$(basename "$req")"
    echo "python=$("$tmp/bin/python" -c 'import sys; print(sys.version.split()[0])')"
    echo "homeassistant=$ha"
    echo "home-assistant-frontend=$frontend"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$tmp/$STAMP_NAME" || return 1
}

# Make sure every named venv exists, building missing ones in parallel.
ensure_venvs() {
  local python name rc=0
  local -a pids=() names=()
  python="$(find_python313)" || die "no working python3.13 found (PATH, pyenv versions, /usr)"
  for name in "$@"; do
    ensure_venv "$name" "$python" &
    pids+=("$!")
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      log "venv ${names[$i]} could not be built"
      rc=1
    fi
  done
  return "$rc"
}

venv_python() { echo "$VENVS_DIR/$1/bin/python"; }

# "homeassistant=… home-assistant-frontend=…" from a venv's stamp.
venv_versions() {
  grep -E '^(homeassistant|home-assistant-frontend)=' "$VENVS_DIR/$1/$STAMP_NAME" | paste -sd' '
}
