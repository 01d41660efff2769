export { HOME_FORMAT, createHomeMarker, homeLayout, newOriginId, readHome, type HomeLayout, type HomeMarker } from './home.ts';
