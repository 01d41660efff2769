export { CapsuleRuntime } from './capsule-runtime.ts';
export { DELIVERIES_PROJECTION, deliveryKey, type DeliveryCursor } from './deliveries.ts';
export { KernelHostServices, capsuleEnvNamespace, capsuleNamespace, type PendingDelivery } from './host-services.ts';
