"""Meta Graph API platforms (WhatsApp Cloud API, Messenger, Instagram): adapters, proxy
translation of Graph calls, signed inbound webhooks."""
