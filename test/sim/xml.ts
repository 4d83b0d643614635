// Response and error envelopes of the two Query protocols, as AWS sends them.
import { escapeXml, type Service } from './codec.js';

const namespaces: Record<Service, string> = {
  ec2: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  autoscaling: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
};

const prolog = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** EC2: <XResponse><requestId/>members</XResponse>. Auto Scaling: <XResponse><XResult/><ResponseMetadata/>. */
export function successXml(
  service: Service,
  action: string,
  requestId: string,
  members: string | undefined,
): string {
  const open = `<${action}Response xmlns="${namespaces[service]}">`;
  // EC2 actions without output (CreateTags…) still answer <return>true</return>.
  if (service === 'ec2') {
    return `${prolog}${open}<requestId>${requestId}</requestId>${members ?? '<return>true</return>'}</${action}Response>`;
  }
  const result = members === undefined ? '' : `<${action}Result>${members}</${action}Result>`;
  return `${prolog}${open}${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function errorXml(
  service: Service,
  code: string,
  message: string,
  requestId: string,
  status: number,
): string {
  const c = escapeXml(code);
  const m = escapeXml(message);
  if (service === 'ec2') {
    return `${prolog}<Response><Errors><Error><Code>${c}</Code><Message>${m}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  }
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return `${prolog}<ErrorResponse xmlns="${namespaces[service]}"><Error><Type>${type}</Type><Code>${c}</Code><Message>${m}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
