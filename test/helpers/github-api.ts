/**
 * A loopback fake of the GitHub REST endpoints a deployment record uses: create a deployment and
 * add its statuses. It records every request (method, path, authorization, JSON body) in order and
 * answers as GitHub does (201 with the created object), so a test asserts what the action sent.
 * Anything else answers 404, as GitHub does for an unknown route.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string;
  readonly body: Record<string, unknown>;
}

export interface FakeGithubApi {
  /** Pass as GITHUB_API_URL. */
  readonly url: string;
  readonly requests: GithubRequest[];
  /** Answer the next createDeployment with this status and message (for example 403). */
  refuseDeployments(status: number, message: string): void;
  stop(): Promise<void>;
}

export async function startFakeGithubApi(): Promise<FakeGithubApi> {
  const requests: GithubRequest[] = [];
  let nextId = 1000;
  let refusal: { status: number; message: string } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization ?? '', body });
      const answer = (status: number, data: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/deployments$/.test(path)) {
        if (refusal) return answer(refusal.status, { message: refusal.message });
        return answer(201, { id: ++nextId, ...body });
      }
      const status = /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/.exec(path);
      if (req.method === 'POST' && status) return answer(201, { id: ++nextId, ...body });
      answer(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    refuseDeployments: (status, message) => {
      refusal = { status, message };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
