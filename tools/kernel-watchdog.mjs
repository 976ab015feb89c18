// Started beside every kernel the course's runner launches: ends the kernel when the runner is
// gone, however it went (SIGKILL included), even while the kernel is stuck in a synchronous loop
// that no timer inside it would interrupt. Usage: node kernel-watchdog.mjs RUNNER_PID KERNEL_PID
const [runner, kernel] = process.argv.slice(2).map(Number);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
};
// An orphan is re-parented, so a changed parent id also means the runner is gone (even if its id was reused).
const parent = process.ppid;
setInterval(() => {
  if (!alive(kernel)) process.exit(0);
  if (process.ppid !== parent || !alive(runner)) {
    try {
      process.kill(kernel, "SIGKILL");
    } catch {
      // already gone
    }
    process.exit(0);
  }
}, 500);
