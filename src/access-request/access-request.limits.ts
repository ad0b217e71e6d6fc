export const MAX_STRING_LENGTH = 255;
export const MAX_TEXT_LENGTH = 4000; // comments, clientMetadata values
export const MAX_METADATA_ENTRIES = 64;

// IdentityNow's caps once any item is an ENTITLEMENT.
export const MAX_ENTITLEMENTS = 25;
export const MAX_IDENTITIES_WITH_ENTITLEMENTS = 10;

// The gateway's own: identities x items must not become millions of pairs.
export const MAX_IDENTITIES = 1000;
export const MAX_ITEMS = 1000;
export const MAX_PAIRS = 10_000;
export const MAX_ACCOUNT_REFS = 100;
