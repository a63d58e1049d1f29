'use strict'
/**
 * The benchmark's child processes: forked jobs (a fresh Node per measurement, IPC with
 * structured clone), the tail of what a child printed for error messages, and stopping a
 * child by pid whatever state it is in.
 */
const { fork } = require('node:child_process')

/** SIGKILLs `child` unless it has exited; never throws. */
function killChild(child) {
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {}
  }
}

/** SIGTERMs `child`, then SIGKILLs it if it has not exited after `graceMs`. */
async function stopGracefully(child, graceMs) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exit = new Promise((r) => child.once('exit', () => r(true)))
  try {
    process.kill(child.pid, 'SIGTERM')
  } catch {}
  const exited = await Promise.race([exit, new Promise((r) => setTimeout(() => r(false), graceMs))])
  if (!exited) killChild(child)
}

/** The last `lines` non-empty lines of `text`, joined with " | ". */
function tailLines(text, lines) {
  return text.trim().split('\n').filter(Boolean).slice(-lines).join(' | ')
}

/** The last ~20-40 kB a spawned child printed (stdout and stderr), for error messages. */
function keepOutput(child) {
  let out = ''
  const keep = (d) => {
    out += d
    if (out.length > 40000) out = out.slice(-20000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  return () => out
}

/**
 * Forks `file` as a job process: NODE_ENV=production (plus `env`), an IPC channel with
 * `serialization: 'advanced'`, stderr kept (its last ~10-20 kB) unless `debug` lets the
 * child print to this terminal. Returns { child, stderrTail(lines) }.
 */
function forkJob(file, { cwd, execArgv = [], env = {}, debug = false }) {
  const child = fork(file, [], {
    cwd,
    execArgv,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: debug ? 'inherit' : ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += d
    if (stderr.length > 20000) stderr = stderr.slice(-10000)
  })
  return { child, stderrTail: (lines) => tailLines(stderr, lines) }
}

module.exports = { killChild, stopGracefully, tailLines, keepOutput, forkJob }
