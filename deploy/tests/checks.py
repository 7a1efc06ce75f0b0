"""What the deploy check scripts share: every failed check is one line on
stderr, collected, and finish() exits 1 when there was any."""
import sys

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, file=sys.stderr)


def finish():
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
