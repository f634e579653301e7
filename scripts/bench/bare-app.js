// The yardstick: a bare Nest + Fastify app with one GET route, built the way the real server is
// (same framework versions, logger off) but with no guard, interceptor, validation or store.
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

class BareController {
  hello() {
    return { hello: 'world' };
  }
}
Get()(BareController.prototype, 'hello', Object.getOwnPropertyDescriptor(BareController.prototype, 'hello'));
Controller('bare')(BareController);

class BareModule {}
Module({ controllers: [BareController] })(BareModule);

(async () => {
  const app = await NestFactory.create(BareModule, new FastifyAdapter(), { logger: false });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
})();
