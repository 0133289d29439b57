# Shared shell helpers for scripts/setup, scripts/test and scripts/demo (sourced, not run).
#
# The environments live in .venvs/<name> (git-ignored):
#   main   = requirements_test.txt    HA 2026.10.4 on Python 3.14 (what users run; the demo,
#                                     the bench and the browser tests use it)
#   min    = requirements_test_min.txt HA 2025.4.4 on Python 3.13.0 (the declared minimum)
#   newest = requirements_newest.txt  the newest HA release, for the end-to-end tests only
#                                     (no test harness pins it yet)
# Python 3.14 is not on these machines: .venvs/python3.14 holds one taken from Debian's
# forky suite (see ensure_python314). Every venv also gets the PyPI packages of the Home
# Assistant integrations a real hass of ours loads (scripts/ha_requirements.py), because
# hass runs with --skip-pip and a missing one breaks the UI far from its cause.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS_DIR="$REPO_ROOT/.venvs"
ALL_VENVS=(main min newest)
# Bump when the way a venv is built changes, so existing venvs get rebuilt.
VENV_RECIPE="5"
# Pip's machine-wide configuration here caps some packages and adds local indexes; the
# venvs are built from PyPI alone, the same way on every machine.
export PIP_CONFIG_FILE=/dev/null
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\033[1m[%s]\033[0m %s\n' "${LOG_TAG:-frigate_rules}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

venv_requirements() {
  case "$1" in
    main) echo "$REPO_ROOT/requirements_test.txt" ;;
    min) echo "$REPO_ROOT/requirements_test_min.txt" ;;
    newest) echo "$REPO_ROOT/requirements_newest.txt" ;;
    *) die "unknown venv '$1' (expected main, min or newest)" ;;
  esac
}

# Which Python a venv is built on: 3.14 for Home Assistant 2026.3 and later.
venv_python_version() {
  case "$1" in
    min) echo 3.13 ;;
    *) echo 3.14 ;;
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

# -- Python 3.14 from Debian forky -------------------------------------------------------
#
# Home Assistant 2026.3+ needs Python >= 3.14.2; these machines (Debian bookworm) have 3.13.
# Debian's forky suite has python3.14. We debootstrap a minimal forky into
# .venvs/python3.14/chroot, install python3.14 there with apt, and make its interpreter
# run from the host filesystem: a copy patched (patchelf) to use the chroot's dynamic
# loader and libraries, inside a prefix whose lib/python3.14 is the chroot's standard
# library and whose include/ has the real pyconfig.h. No chroot is entered at run time.
PY314_DIR="$VENVS_DIR/python3.14"
PY314_RECIPE="1"
PY314_SUITE="forky"
PY314_PACKAGES="python3.14 python3.14-venv python3.14-dev libpython3.14 ca-certificates"

# The Debian mirror apt already uses (deb822 or one-line format), else the default one.
debian_mirror() {
  local uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
    uri="$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

python314_key() {
  echo "recipe=$PY314_RECIPE suite=$PY314_SUITE mirror=$(debian_mirror) packages=$PY314_PACKAGES" \
    | sha256sum | cut -d' ' -f1
}

# As root, or through sudo.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  else
    command -v sudo >/dev/null 2>&1 || die "'$1' needs root and there is no sudo"
    sudo "$@"
  fi
}

# apt-get install the given Debian packages unless every one of them is installed.
ensure_debian_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
}

# Debian's chromium for the browser tests (tests/ui, main venv): Playwright drives
# /usr/bin/chromium and never downloads a browser of its own.
ensure_chromium() {
  ensure_debian_packages chromium || die "apt-get install chromium failed"
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium still missing after apt-get install"
}

# Print the path of a working python3.14, building it first if needed.
ensure_python314() {
  local dir="$PY314_DIR" key lockfd buildlog
  local python="$dir/prefix/bin/python3.14"
  mkdir -p "$VENVS_DIR"
  key="$(python314_key)"
  exec {lockfd}>"$VENVS_DIR/.python3.14.lock"
  flock "$lockfd"
  if [[ -f "$dir/.stamp" ]] && grep -qx "key=$key" "$dir/.stamp" \
    && "$python" -c 'import ssl, sqlite3, ctypes, venv' >/dev/null 2>&1; then
    exec {lockfd}>&-
    echo "$python"
    return 0
  fi
  buildlog="$VENVS_DIR/python3.14.build.log"
  log "building Python 3.14 from Debian $PY314_SUITE in .venvs/python3.14 (log: .venvs/python3.14.build.log)"
  if ! _build_python314 "$dir" "$key" >"$buildlog" 2>&1; then
    log "building Python 3.14 failed; last lines of .venvs/python3.14.build.log:"
    tail -n 30 "$buildlog" >&2
    exec {lockfd}>&-
    return 1
  fi
  log "Python 3.14 ready: $("$python" -c 'import sys; print(sys.version.split()[0])')"
  exec {lockfd}>&-
  echo "$python"
}

_build_python314() {
  # Runs as an `if` condition, where `set -e` has no effect: every step checks itself.
  # Built in place (patchelf writes absolute paths); the stamp, written last, marks it done.
  local dir="$1" key="$2" mirror chroot prefix multiarch="x86_64-linux-gnu" loader
  mirror="$(debian_mirror)"
  chroot="$dir/chroot"
  prefix="$dir/prefix"
  ensure_debian_packages debootstrap patchelf || return 1
  as_root rm -rf "$dir" || return 1
  mkdir -p "$dir" || return 1
  # bookworm's debootstrap has no script named forky; sid's fits every current suite.
  as_root debootstrap --variant=minbase "$PY314_SUITE" "$chroot" "$mirror" \
    /usr/share/debootstrap/scripts/sid || return 1
  # The suite's Release file may be past its Valid-Until date on a snapshot mirror.
  echo 'Acquire::Check-Valid-Until "false";' \
    | as_root tee "$chroot/etc/apt/apt.conf.d/99frigate-rules" >/dev/null || return 1
  # shellcheck disable=SC2086 # the package list is meant to split
  as_root chroot "$chroot" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $PY314_PACKAGES" \
    || return 1
  loader="$chroot/usr/lib/$multiarch/ld-linux-x86-64.so.2"
  [[ -e "$loader" ]] || loader="$chroot/lib64/ld-linux-x86-64.so.2"
  mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include" || return 1
  cp "$chroot/usr/bin/python3.14" "$prefix/bin/python3.14" || return 1
  patchelf --set-interpreter "$loader" --force-rpath \
    --set-rpath "$chroot/usr/lib/$multiarch:$chroot/usr/lib" "$prefix/bin/python3.14" \
    || return 1
  ln -s "$chroot/usr/lib/python3.14" "$prefix/lib/python3.14" || return 1
  cp -r "$chroot/usr/include/python3.14" "$prefix/include/" || return 1
  # Debian's pyconfig.h only dispatches to the multiarch one; C extensions need the real one.
  cp "$chroot/usr/include/$multiarch/python3.14/pyconfig.h" \
    "$prefix/include/python3.14/pyconfig.h" || return 1
  "$prefix/bin/python3.14" -c 'import ssl, sqlite3, ctypes, venv, sys; print(sys.version)' \
    || return 1
  echo "key=$key" >"$dir/.stamp"
}

# A pip wheel for venvs made with --without-pip (Debian's ensurepip looks for its wheels
# under /usr/share/python-wheels, which is inside the chroot).
python314_pip_wheel() {
  local wheel
  wheel="$(ls "$PY314_DIR"/chroot/usr/share/python-wheels/pip-*.whl 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$wheel" ]] || return 1
  echo "$wheel"
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

# The requirement files a venv is built from: the file itself plus its `-r`/`-c` includes.
_requirement_files() {
  local file="$1" inc
  echo "$file"
  while IFS= read -r inc; do
    _requirement_files "$(dirname "$file")/$inc"
  done < <(sed -n 's/^[[:space:]]*-[rc][[:space:]]\+\([^[:space:]#]\+\).*/\1/p' "$file")
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
    echo "== ha_requirements.py"
    cat "$REPO_ROOT/scripts/ha_requirements.py"
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
  local tmp="$1" req="$2" python="$3" key="$4" final="$5" frontend ha f wheel constraints
  if [[ "$python" == "$PY314_DIR"/* ]]; then
    "$python" -m venv --without-pip "$tmp" || return 1
    wheel="$(python314_pip_wheel)" || return 1
    "$tmp/bin/python" "$wheel/pip" install "$wheel" || return 1
  else
    "$python" -m venv "$tmp" || return 1
  fi
  # The pip bundled with 3.13.0 (24.2) backtracks through dozens of sdists of HA's
  # dependencies and takes 10+ minutes; a current pip resolves the same set in about two.
  "$tmp/bin/python" -m pip install --upgrade "pip>=25.3" || return 1
  "$tmp/bin/python" -m pip install -r "$req" || return 1
  # What the integrations a real hass of ours loads need, as HA's manifests pin them and
  # within HA's own constraints (hass runs with --skip-pip). This includes the frontend.
  constraints="$("$tmp/bin/python" -c \
    'import homeassistant, pathlib; print(pathlib.Path(homeassistant.__file__).parent / "package_constraints.txt")')" \
    || return 1
  "$tmp/bin/python" "$REPO_ROOT/scripts/ha_requirements.py" >"$tmp/ha_requirements.txt" \
    || return 1
  "$tmp/bin/python" -m pip install -r "$tmp/ha_requirements.txt" -c "$constraints" || return 1
  ha="$("$tmp/bin/python" -c 'import importlib.metadata as m; print(m.version("homeassistant"))')" \
    || return 1
  frontend="$("$tmp/bin/python" -c \
    'import importlib.metadata as m; print(m.version("home-assistant-frontend"))')" || return 1
  # Console scripts and activate files carry the absolute path they were built at.
  while IFS= read -r f; do
    sed -i "s|$tmp|$final|g" "$f" || return 1
  done < <(grep -rlI --fixed-strings "$tmp" "$tmp/bin" "$tmp/pyvenv.cfg" 2>/dev/null || true)
  "$tmp/bin/python" -c 'import hass_frontend, homeassistant, paho.mqtt, pytest' || return 1
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
  local name rc=0 py313="" py314=""
  local -a pids=() names=()
  for name in "$@"; do
    case "$(venv_python_version "$name")" in
      3.13)
        [[ -n "$py313" ]] || py313="$(find_python313)" \
          || die "no working python3.13 found (PATH, pyenv versions, /usr)"
        ;;
      3.14)
        [[ -n "$py314" ]] || py314="$(ensure_python314)" || die "could not provide Python 3.14"
        ;;
    esac
  done
  for name in "$@"; do
    if [[ "$(venv_python_version "$name")" == 3.13 ]]; then
      ensure_venv "$name" "$py313" &
    else
      ensure_venv "$name" "$py314" &
    fi
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
