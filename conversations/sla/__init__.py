"""Conversation SLA: the clock (clock) and the report (report); the schedule maths are conversations.schedule."""
