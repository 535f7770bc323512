// Which UDP socket the udp prober and the peer responder run on: our
// addon's (kernel stamps) when it loads, else node's dgram; `native` and
// `dgram` force one (tests run both).

import { loadNativeSockets } from '../icmp/native-sockets.js';
import { SendError } from '../prober.js';
import { DgramUdpTransport } from './dgram-transport.js';
import { NativeUdpTransport } from './native-transport.js';
import type { UdpTransportChoice } from './transport-choice.js';
import type { UdpBind, UdpTransport } from './transport.js';

export async function openUdpTransport(
  choice: UdpTransportChoice,
  bind: UdpBind,
): Promise<UdpTransport> {
  if (choice === 'dgram') return DgramUdpTransport.open(bind);
  const native = loadNativeSockets();
  if (!native.ok) {
    if (choice === 'native')
      throw new SendError('ENOADDON', `--udp-transport native: ${native.reason}`);
    return DgramUdpTransport.open(bind);
  }
  return new NativeUdpTransport(native.sockets, bind);
}
