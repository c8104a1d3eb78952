"""A long-running client process (etcdctl watch, lock, elect, lease
keep-alive) whose output a test reads line by line as it comes.

    with LineProcess(["etcdctl", "watch", "k"], env=env) as p:
        p.read_lines(3)          # ["PUT", "k", "v"]; fails after `timeout` s
        p.interrupt()            # SIGINT, as an operator's Ctrl-C
        p.wait()                 # exit code

stdout and stderr are read by background threads, so a test blocks on the
next line with a deadline instead of sleeping.
"""

import queue
import signal
import subprocess
import threading


class LineProcess:
    def __init__(self, argv, env=None, stdin=None, timeout=15.0):
        self.argv = list(argv)
        self.timeout = timeout
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE if stdin else None,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self._lines = queue.Queue()
        self.stderr_lines = []
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def write(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def read_line(self, timeout=None):
        """The next stdout line, without its newline. Fails when the process
        ends first or after `timeout` seconds."""
        timeout = self.timeout if timeout is None else timeout
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("%s: no output line within %.1fs; stderr: %s" % (
                self.argv, timeout, self.stderr_lines[-5:])) from None
        if line is None:
            self._lines.put(None)
            raise AssertionError("%s ended (code %s) before printing a line; stderr: %s" % (
                self.argv, self.proc.wait(), self.stderr_lines[-5:]))
        return line

    def read_lines(self, n, timeout=None):
        return [self.read_line(timeout) for _ in range(n)]

    def interrupt(self):
        self.proc.send_signal(signal.SIGINT)

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout=None):
        """Waits for the exit and the end of its output; returns the code."""
        code = self.proc.wait(self.timeout if timeout is None else timeout)
        self._out.join(5)
        self._err.join(5)
        return code

    def rest(self):
        """The stdout lines left after the process ended (call after wait)."""
        out = []
        while True:
            line = self._lines.get()
            if line is None:
                self._lines.put(None)
                return out
            out.append(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._out.join(5)
        self._err.join(5)
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream:
                stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
