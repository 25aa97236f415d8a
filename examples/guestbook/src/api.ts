import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { listMessages } from './messages.js';

// The same messages as JSON under Bastion's API face (GET /api/guestbook): a bearer token is the
// only credential there, so a moderator's token sees hidden messages and a browser's cookie
// never counts. The response schema is the contract: nothing else leaves, whatever a row holds.

const messagesResponse = {
  200: {
    type: 'object',
    additionalProperties: false,
    required: ['messages'],
    properties: {
      messages: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'body', 'author', 'createdAt', 'hidden'],
          properties: {
            id: { type: 'integer' },
            body: { type: 'string' },
            author: { type: 'string' },
            createdAt: { type: 'string' },
            hidden: { type: 'boolean' },
          },
        },
      },
    },
  },
} as const;

export async function guestbookApi(api: FastifyInstance, runtime: Runtime): Promise<void> {
  api.get('/guestbook', { config: { access: 'public' }, schema: { response: messagesResponse } }, async function messagesJson(request) {
    return { messages: await listMessages(runtime.db, request.user) };
  });
}
