import { randomBytes } from 'node:crypto';
import { requestIdFromBytes, type RequestId } from '../domain/request-id';

export interface IdGenerator {
  /** A fresh random request id; the store's primary key makes sure it is never reused. */
  newRequestId(): RequestId;
}

export const randomIds: IdGenerator = { newRequestId: () => requestIdFromBytes(randomBytes(5)) };
