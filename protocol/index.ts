export * from './task';
export * from './events';
export * from './api';
export * from './errors';
export * from './diff';
