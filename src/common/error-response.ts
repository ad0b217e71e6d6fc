/** IdentityNow's `ErrorResponseDto`, so apps and the SDK parse our errors as they parse IdentityNow's. */
export interface ErrorMessageDto {
  locale: string;
  localeOrigin: 'DEFAULT' | 'REQUEST' | null;
  text: string;
}

export interface ErrorResponseDto {
  detailCode: string;
  trackingId: string;
  messages: ErrorMessageDto[];
  causes: ErrorMessageDto[];
}

const DETAIL_CODES: Record<number, string> = {
  400: '400.1 Bad Request Content',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500.0 Internal Fault',
  503: '503 Service Unavailable',
};

export function errorResponse(
  status: number,
  texts: readonly string[],
  trackingId: string,
): ErrorResponseDto {
  return {
    detailCode: DETAIL_CODES[status] ?? `${status}`,
    trackingId,
    messages: texts.map((text) => ({ locale: 'en-US', localeOrigin: 'DEFAULT', text })),
    causes: [],
  };
}
