import { describe, expect, it } from 'vitest';
import { changelogTopicsByName, repartitionTopicsByName } from './reset.js';

describe('repartitionTopicsByName', () => {
  it("finds the application's repartition topics and nothing else", () => {
    const topics = [
      'shop-orders-by-customer-repartition',
      'shop-a-repartition',
      'shop-dlq',
      'shop.v2-x-repartition', // another application whose id starts with "shop"
      'shopping-x-repartition',
      'orders',
      'shop-repartition', // no name between the id and the suffix
    ];
    expect(repartitionTopicsByName('shop', topics)).toEqual(['shop-a-repartition', 'shop-orders-by-customer-repartition']);
    expect(repartitionTopicsByName('shop.v2', topics)).toEqual(['shop.v2-x-repartition']);
  });

  it("finds the application's changelog topics and nothing else", () => {
    const topics = ['shop-orders-per-customer-changelog', 'shop-a-repartition', 'shopping-x-changelog', 'shop-changelog', 'shop-dlq'];
    expect(changelogTopicsByName('shop', topics)).toEqual(['shop-orders-per-customer-changelog']);
  });
});
