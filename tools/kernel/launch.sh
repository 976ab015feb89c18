#!/bin/sh
# The course's TypeScript kernel, as Jupyter starts it (kernel.json runs this file, copied into
# the kernelspec folder by `npm run kernel`). It finds Node.js now, not when the kernel was
# registered: the Node that registered it if it still exists, else the first `node` on PATH,
# then hands over to launch.mjs beside it, which finds the course folder from the notebook's.
# The folder of this file without calling dirname: a kernel started with a bare PATH still finds it.
case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac
for node in "$COURSE_KERNEL_NODE" "$(command -v node 2>/dev/null)"; do
  if [ -n "$node" ] && [ -x "$node" ]; then
    exec "$node" "$here/launch.mjs" "$@"
  fi
done
echo "tslab-course: cannot start: no Node.js found (${COURSE_KERNEL_NODE:-none registered} is gone and there is no node on PATH); install Node 20 or later, then run \`npm run kernel\` in the course folder" >&2
exit 1
