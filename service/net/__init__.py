"""Outbound HTTP: the URL and address guard and the transport that enforces it.

Webhook deliveries and feed polls call URLs that users typed in; everything here exists so that
those requests can only reach the public internet unless the operator says otherwise.
"""
