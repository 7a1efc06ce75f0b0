// OTLP/HTTP receiver for sonde's tests. Decodes every request with the
// generated protobuf code that @opentelemetry/otlp-transformer ships (an
// implementation independent of sonde's) and prints one JSON line per
// request on stdout. Usage: node receiver.js PORT [FAIL_FIRST_N] [TLS_DIR]
// With TLS_DIR (make_test_certs.sh's output) it serves https and requires a
// client certificate signed by TLS_DIR/ca.crt; each line names the client.
// RECEIVER_DELAY_MS in the environment delays each answer (after decoding and
// printing the request); "never" keeps every request unanswered.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const port = Number(process.argv[2]);
let failuresLeft = Number(process.argv[3] || 0);  // answer 503 to the first N requests
const tlsDir = process.argv[4];
const answerDelay = process.env.RECEIVER_DELAY_MS === 'never' ? 'never' : Number(process.env.RECEIVER_DELAY_MS || 0);
const types = {
  '/v1/metrics': root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest,
  '/v1/logs': root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest,
};

const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (failuresLeft > 0) {
      failuresLeft--;
      console.log(JSON.stringify({ path: req.url, status: 503 }));
      res.writeHead(503);
      res.end('busy');
      return;
    }
    const type = types[req.url];
    if (!type) {
      res.writeHead(404);
      res.end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    const json = req.headers['content-type'] === 'application/json';
    const message = json ? type.fromObject(JSON.parse(body.toString())) : type.decode(body);
    const request = type.toObject(message, { longs: String, enums: Number });
    const client = tlsDir ? req.socket.getPeerCertificate().subject.CN : undefined;
    console.log(JSON.stringify({ path: req.url, status: 200, contentType: req.headers['content-type'], client, request }));
    const answer = () => {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end();
    };
    if (answerDelay === 'never') return;
    if (answerDelay > 0) setTimeout(answer, answerDelay);
    else answer();
  });
};

const server = tlsDir
  ? https.createServer({
      key: fs.readFileSync(`${tlsDir}/server.key`),
      cert: fs.readFileSync(`${tlsDir}/server.crt`),
      ca: fs.readFileSync(`${tlsDir}/ca.crt`),
      requestCert: true,
      rejectUnauthorized: true,
    }, handler)
  : http.createServer(handler);
server.on('tlsClientError', (err) => console.log(JSON.stringify({ tlsClientError: err.message })));
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
