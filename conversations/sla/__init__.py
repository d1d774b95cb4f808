"""Conversation SLA: schedule maths (schedule), the clock (clock) and the report (report)."""
