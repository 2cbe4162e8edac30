#!/usr/bin/env bash
# Several machines: copy the index versions built on this machine (the one admins reindex on) to the
# others, then switch their CURRENT. A version folder is complete and never changes once written, so it
# is copied first; CURRENT is replaced last, atomically (write beside it, then rename), exactly as a
# local reindex does, and the workers there pick it up as they do after a local reindex.
#   usage: directive-bot-sync-index.sh /srv/directive-bot/index host2 host3 ...
set -euo pipefail
index=${1:?index folder}; shift
current=$(cat "$index/CURRENT")
for host in "$@"; do
  rsync -a --delete-after "$index/versions/" "$host:$index/versions/"
  ssh "$host" "printf '%s' '$current' > '$index/CURRENT.sync' && mv -f '$index/CURRENT.sync' '$index/CURRENT'"
done
