"""Watch rules as scheduled scans: stalls, untouched leads, silent steps, commitments, task SLAs.

The entry point is handlers.watch.scan.run_watch; results are handlers.watch.findings.JobResult.
"""
