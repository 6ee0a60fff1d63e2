"""Watch rules as scheduled scans: stage stalls, untouched leads, silent steps, commitments,
task SLAs, low health.

The entry point is handlers.watch.scan.run_watch; results are handlers.alerting.findings.JobResult.
"""
