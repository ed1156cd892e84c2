"""The demo's sandbox gateways (演示网关): SMS, WeChat template messages and app push on
loopback, speaking the real gateways' HTTP, so that the demo dispatches through the real
adapters; what they receive is kept and shown as a phone's inbox (docs/campaigns-dispatch.md).

`mode` (demo mode and the sandbox's sections of the channels config) needs no database and
is imported by the channel adapters' config; the rest is a Django app (label `sandbox`).
"""
