"""Follow-ups (跟进计划): planning, recurrence, reminders, the personal calendar feed and the
customer 360 panel."""
