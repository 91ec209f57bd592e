"""Webhooks: Standard Webhooks signing, payloads, the retry policy and the sender.

The delivery worker composes these: it builds the payload once when the outbox row is written, then
for each attempt signs and sends it and lets the policy decide what happens next.
"""
