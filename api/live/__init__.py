"""The live view's core: redaction, pairing requests with answers, statistics, fan-out.

Pure and synchronous apart from the viewers' queues: the MQTT monitor feeds it and the web
routes read it, and neither of those lives here. Time is always passed in.
"""
