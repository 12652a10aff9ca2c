"""Run the package's tests with unittest alone and print 'N passed, M failed, K skipped' last.

    python tests/_run.py [-v]

Exit status 1 when a test failed or errored, or when no test passed.
"""

from __future__ import annotations

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main() -> int:
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    suite = unittest.TestLoader().discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - len(result.failures) - len(result.errors) - skipped - len(result.expectedFailures) - len(result.unexpectedSuccesses)
    reasons = sorted({reason for _, reason in result.skipped})
    if reasons:
        print("skipped because:")
        for reason in reasons:
            print(f"  - {reason}")
    print(f"python: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
