export * from './identitynow.client';
export * from './identitynow.errors';
export * from './identitynow.http';
export * from './identitynow.module';
export * from './identitynow.tokens';
export * from './identitynow.types';
export * from './rate-limiter.service';
export * from './token.provider';
