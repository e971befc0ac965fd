import http from 'node:http';

/**
 * POSTs `size` bytes of junk (an unsigned body), announced with Content-Length or chunked,
 * respecting back-pressure and stopping as soon as the server answers or closes. Resolves with the
 * status, if an answer was read, and the bytes handed to the socket. NB: a client still writing
 * when the server closes gets EPIPE or ECONNRESET, and Node then drops an answer it had not read
 * yet: `status` is undefined then, a refusal all the same.
 */
export function postJunk(url: string, size: number, opts: { chunked: boolean }): Promise<{ status: number | undefined; sent: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const headers: Record<string, string | number> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = size;
    const req = http.request(url, { method: 'POST', headers, agent: false });
    let sent = 0;
    let status: number | undefined;
    let stopped = false;
    const finish = () => {
      stopped = true;
      req.destroy();
      resolve({ status, sent });
    };
    req.on('response', (res) => {
      stopped = true;
      status = res.statusCode;
      res.resume();
      res.on('end', finish);
      res.on('error', finish);
    });
    req.on('error', () => setImmediate(finish));
    req.on('close', () => setImmediate(finish));
    const pump = () => {
      while (!stopped && sent < size) {
        const piece = sent + chunk.length <= size ? chunk : chunk.subarray(0, size - sent);
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!stopped) req.end();
    };
    pump();
  });
}
