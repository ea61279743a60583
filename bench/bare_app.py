"""The yardstick for webhook throughput: a bare Flask app answering one constant TwiML document."""

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/next" input="dtmf" '
    'numDigits="1" timeout="10"><Say language="cmn-CN">请按1</Say></Gather></Response>'
)

app = Flask(__name__)


@app.route("/<path:anything>", methods=["GET", "POST"])
def constant(anything: str) -> Response:
    return Response(TWIML, mimetype="text/xml")
