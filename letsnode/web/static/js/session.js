// Signing in: the node's challenge, signed by the member's key under the session domain.

import { api } from "./api.js";
import { concat, fromHex } from "./msgpack.js";
import { DOMAIN_JOIN, DOMAIN_SESSION, sign, utf8 } from "./keys.js";

export async function signIn(identity) {
  const { challenge, community_id: communityId } = await api("POST", "/api/session/challenge", {
    key: identity.publicKey,
  });
  const message = concat(fromHex(communityId), fromHex(challenge));
  const signature = await sign(identity, DOMAIN_SESSION, message);
  return api("POST", "/api/session", { key: identity.publicKey, challenge, signature });
}

export async function askToJoin(identity, handle, invite) {
  const { challenge, community_id: communityId } = await api("POST", "/api/session/challenge", {
    key: identity.publicKey,
  });
  const message = concat(fromHex(communityId), fromHex(challenge), utf8.encode(handle));
  const signature = await sign(identity, DOMAIN_JOIN, message);
  return api("POST", "/api/join", {
    handle,
    key: identity.publicKey,
    challenge,
    signature,
    invite: invite || undefined,
  });
}

export async function signOut() {
  await api("DELETE", "/api/session");
}
