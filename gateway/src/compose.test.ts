import { readFileSync } from 'node:fs';
import { composeSupergraphSdl, SUPERGRAPH_PATH } from './compose';

test('the committed supergraph is what the subgraph schemas compose to (run `npm run compose`)', () => {
  expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toEqual(composeSupergraphSdl());
});
