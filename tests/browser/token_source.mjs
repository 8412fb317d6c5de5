// Fetches a room token the way LiveKit's front ends do: livekit-client's TokenSource.endpoint, unchanged.
// Usage: node token_source.mjs <endpoint url> <bearer token> <fetch options as JSON>
// Prints one JSON line: {"sent": <the request body the SDK sent>, "response": <what fetch() returned>}
// or {"error": <message>} when the endpoint refused.
import { TokenSource } from 'livekit-client';

const [url, bearer, optionsJson] = process.argv.slice(2);
const realFetch = globalThis.fetch;
let sent = null;
globalThis.fetch = async (input, init) => {
  sent = JSON.parse(init.body);
  return realFetch(input, init);
};

const source = TokenSource.endpoint(url, { headers: { Authorization: `Bearer ${bearer}` } });
try {
  const response = await source.fetch(JSON.parse(optionsJson));
  console.log(JSON.stringify({ sent, response }));
} catch (error) {
  console.log(JSON.stringify({ sent, error: String(error.message) }));
}
