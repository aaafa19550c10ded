#!/usr/bin/env bash
# Creates .venv and installs the pinned set; `--dev` adds the test tools. Safe to re-run.
# System packages (Debian/Ubuntu, as root): espeak-ng for the Mandarin fallback voice, ffmpeg
# for the app's live player (without it the page shows the video when it is done); with
# --dev also Chromium + ChromeDriver and a Chinese font for the browser tests. Without root they are skipped
# with a note (Chinese speech and the browser tests then say what is missing).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dev=0; [ "${1:-}" = "--dev" ] && dev=1
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt

sys_pkgs=""
command -v espeak-ng >/dev/null || sys_pkgs="espeak-ng"
# the app's live player (Gradio's streaming video) calls ffmpeg and ffprobe from PATH; the
# pipeline itself uses the ffmpeg bundled in imageio-ffmpeg
{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || sys_pkgs="$sys_pkgs ffmpeg"
if [ $dev = 1 ]; then
  command -v chromium >/dev/null || sys_pkgs="$sys_pkgs chromium"
  command -v chromedriver >/dev/null || sys_pkgs="$sys_pkgs chromium-driver"
  # a Chinese font, so the browser tests' screenshots show the Mandarin examples (boxes without one)
  { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || sys_pkgs="$sys_pkgs fonts-wqy-microhei"
fi
if [ -n "$sys_pkgs" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install$sys_pkgs"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $sys_pkgs; } \
      >/tmp/talker-apt.log 2>&1 || echo "setup: note: could not install$sys_pkgs (see /tmp/talker-apt.log)" >&2
  else
    echo "setup: note: install$sys_pkgs with your package manager for Chinese speech / live playback / browser tests" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv || exit 1
pipq() { .venv/bin/python -m pip "$@" 2>&1 | grep -v "^WARNING: Location"; return "${PIPESTATUS[0]}"; }
pipq install -q --upgrade "pip>=24" || exit 1
pipq install -q -r "$req" || { echo "setup: installing $req failed" >&2; exit 1; }
.venv/bin/python -m pip check || exit 1
.venv/bin/python -c "import talker" || exit 1

# Kokoro's stock voice packs (Apache-2.0) ship in the npm package kokoro-js: unpack voices/*.bin
# into the models folder once. Without npm the Kokoro voices are off (Mandarin then uses espeak-ng).
voices=$(.venv/bin/python -c "from talker.speech.kokoro_backend import voices_dir; print(voices_dir())")
if ! ls "$voices"/*.bin >/dev/null 2>&1; then
  if command -v npm >/dev/null; then
    tmp=$(mktemp -d)
    if (cd "$tmp" && npm pack --silent kokoro-js@1.2.1 >/dev/null 2>&1 && tar -xzf kokoro-js-1.2.1.tgz package/voices package/LICENSE); then
      mkdir -p "$voices" && cp "$tmp"/package/voices/*.bin "$tmp"/package/LICENSE "$voices"/ && echo "setup: Kokoro voices in $voices"
    else
      echo "setup: note: could not fetch the Kokoro voices with npm (kokoro-js@1.2.1)" >&2
    fi
    rm -rf "$tmp"
  else
    echo "setup: note: install npm to get the Kokoro voices (Mandarin then uses espeak-ng)" >&2
  fi
fi
echo "setup: .venv ready ($req)"
