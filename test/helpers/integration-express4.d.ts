/**
 * Express 4 is installed under the alias `express4` (npm:express@4) for the drop-in tests. It ships
 * no types; the API the tests use (express(), json(), urlencoded(), text(), Router()) has the same
 * shape as @types/express.
 */
declare module 'express4' {
  import express from 'express';
  export default express;
}
