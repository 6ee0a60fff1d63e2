"""Alerting, shared by the watch rules, SOP tasks, task cards and the digest.

Findings and job results (findings), alert rows (alerts), escalation timing (ladder), who hears
of it (recipients), the wording and pushes (messages), raising findings (raising), 稍后提醒
(snooze) and the jobs' transaction helpers (txn).
"""
